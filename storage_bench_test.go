package actor_test

import (
	"fmt"
	"strings"
	"testing"
)

// benchBackends are the backends the storage benchmarks compare: local
// files and a local platform (apifytest) over loopback HTTP.
var benchBackends = backends[:2]

type benchItem struct {
	URL   string   `json:"url"`
	Title string   `json:"title"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags"`
}

// BenchmarkPushData pushes 1,000 small items per operation, as one slice.
func BenchmarkPushData(b *testing.B) {
	items := make([]benchItem, 1000)
	for i := range items {
		items[i] = benchItem{URL: fmt.Sprintf("https://example.com/page/%d", i), Title: fmt.Sprintf("Page %d", i), Price: float64(i) + .5, Tags: []string{"a", "b"}}
	}
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			a := be.newActor(b)
			ctx := b.Context()
			for b.Loop() {
				if err := a.PushData(ctx, items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkSetRecord stores a 100 KB record per operation.
func BenchmarkSetRecord(b *testing.B) {
	value := []byte(strings.Repeat("0123456789", 10<<10))
	for _, be := range benchBackends {
		b.Run(be.name, func(b *testing.B) {
			a := be.newActor(b)
			ctx := b.Context()
			kv, err := a.OpenKeyValueStore(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(value)))
			i := 0
			for b.Loop() {
				if err := kv.SetRecord(ctx, fmt.Sprintf("record-%d", i%1000), value, "application/octet-stream"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
