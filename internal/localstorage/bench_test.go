package localstorage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks write what the proof names — 100,000 small dataset
// items and 1,000 records of 100 KB — each next to its floor: the same bytes
// written with one plain os.WriteFile per file. Each iteration writes into a
// fresh directory; run with -benchtime=3x or so.

const (
	benchItems      = 100_000
	benchRecords    = 1_000
	benchRecordSize = 100 << 10
)

func benchItem(i int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"url":"https://example.com/page/%d","title":"Page %d","price":%d.5,"tags":["a","b"]}`, i, i, i))
}

func freshDir(b *testing.B, base string, i int) string {
	b.Helper()
	dir := filepath.Join(base, fmt.Sprint(i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

func BenchmarkPushItems(b *testing.B) {
	items := make([]json.RawMessage, benchItems)
	indented := make([][]byte, benchItems)
	for i := range items {
		items[i] = benchItem(i)
		var buf []byte
		buf, _ = json.MarshalIndent(json.RawMessage(items[i]), "", "\t")
		indented[i] = buf
	}
	ctx := context.Background()
	for _, batch := range []int{1, 1000} {
		b.Run(fmt.Sprintf("localstorage/batch=%d", batch), func(b *testing.B) {
			base := b.TempDir()
			n := 0
			for b.Loop() {
				s, err := New(ctx, freshDir(b, base, n), nil)
				if err != nil {
					b.Fatal(err)
				}
				d, err := s.Dataset(ctx, "")
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < len(items); i += batch {
					if err := d.Push(ctx, items[i:i+batch]...); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(benchItems*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
	b.Run("floor/os.WriteFile", func(b *testing.B) {
		base := b.TempDir()
		n := 0
		for b.Loop() {
			dir := freshDir(b, base, n)
			for i, it := range indented {
				if err := os.WriteFile(filepath.Join(dir, itemFile(i+1)), it, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			n++
		}
		b.ReportMetric(float64(benchItems*b.N)/b.Elapsed().Seconds(), "items/s")
	})
}

func BenchmarkSetRecords(b *testing.B) {
	value := make([]byte, benchRecordSize)
	for i := range value {
		value[i] = byte(i * 7)
	}
	ctx := context.Background()
	b.Run("localstorage", func(b *testing.B) {
		base := b.TempDir()
		n := 0
		b.SetBytes(benchRecords * benchRecordSize)
		for b.Loop() {
			s, err := New(ctx, freshDir(b, base, n), nil)
			if err != nil {
				b.Fatal(err)
			}
			kv, err := s.KeyValueStore(ctx, "")
			if err != nil {
				b.Fatal(err)
			}
			for i := range benchRecords {
				if err := kv.Set(ctx, fmt.Sprintf("record-%d", i), value, "application/octet-stream"); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("floor/os.WriteFile", func(b *testing.B) {
		base := b.TempDir()
		n := 0
		b.SetBytes(benchRecords * benchRecordSize)
		for b.Loop() {
			dir := freshDir(b, base, n)
			for i := range benchRecords {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("record-%d.bin", i)), value, 0o644); err != nil {
					b.Fatal(err)
				}
			}
			n++
		}
		b.ReportMetric(float64(benchRecords*b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
