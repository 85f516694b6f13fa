package apifytest_test

import (
	"context"
	"fmt"

	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// A migration stops a registered Actor function, after the migrating event
// and the grace (none here), and calls it again for the same run.
func ExampleServer_MigrateRun() {
	srv, err := apifytest.NewServer(apifytest.WithMigrationGrace(0))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	srv.RegisterActor("me~counter", func(ctx context.Context, env []string, input []byte) error {
		if why, again := apifytest.RestartOf(ctx); again {
			fmt.Println("called again after a", why.Kind)
			return nil
		}
		fmt.Println("first call")
		<-ctx.Done()
		fmt.Println("stopped:", context.Cause(ctx))
		return ctx.Err()
	})
	ctx := context.Background()
	run, err := srv.StartRun(ctx, "me~counter", nil, client.StartOptions{})
	if err != nil {
		panic(err)
	}
	if _, err := srv.MigrateRun(ctx, run.ID); err != nil {
		panic(err)
	}
	end, err := srv.WaitRun(ctx, run.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(end.Status, "after", end.Stats.RestartCount, "restart")
	// Output:
	// first call
	// stopped: apifytest: the run is restarting
	// called again after a migration
	// SUCCEEDED after 1 restart
}
