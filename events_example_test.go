package actor_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/go-apify/actor"
)

// progress is the state a restarted run resumes from.
type progress struct {
	Done int `json:"done"`
}

// A restart-safe Actor keeps its progress in a State: on the platform it is
// loaded from the default key-value store when the run restarts (after a
// migration or a reboot) and saved on every persistState and at exit. The
// context ends when a migration starts; whatever the function then
// returns, the run is not reported as succeeded. Off the platform, as here,
// the state lives in memory.
func ExampleUseState() {
	// Off the platform the state is a record in local files; here in a
	// temporary directory instead of ./storage.
	dir, err := os.MkdirTemp("", "state-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	a := actor.New(actor.WithEnviron([]string{"APIFY_LOCAL_STORAGE_DIR=" + dir}),
		actor.WithExitFunc(func(code int) { fmt.Println("exit code", code) }))
	a.OnMigrating(func(ctx context.Context, e actor.Migrating) {
		log.Printf("migrating; %v left", e.TimeRemaining)
	})
	a.Main(func(ctx context.Context) error {
		st, err := actor.UseState(ctx, a, "", progress{})
		if err != nil {
			return err
		}
		for st.Get().Done < 3 {
			if err := ctx.Err(); err != nil {
				return err // the state is saved; the next process goes on from it
			}
			st.Update(func(p *progress) { p.Done++ })
		}
		fmt.Println("done:", st.Get().Done)
		return nil
	})
	// Output:
	// done: 3
	// exit code 0
}
