package actor_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/go-apify/actor"
	"github.com/go-apify/actor/apifytest"
	"github.com/go-apify/actor/client"
)

// A pay-per-event Actor charges for each page until the run's maximum total
// charge allows no more, here on the local platform.
func ExampleActor_Charge() {
	ctx := context.Background()
	srv, err := apifytest.NewServer(apifytest.WithPricing(apifytest.Pricing{
		Info: json.RawMessage(`{"pricingModel": "PAY_PER_EVENT", "pricingPerEvent": {"actorChargeEvents": {
			"page": {"eventTitle": "Page", "eventDescription": "A page crawled", "eventPriceUsd": 0.25}}}}`),
		MaxTotalChargeUSD: 1,
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	run, err := srv.StartRun(ctx, "me~crawler", nil, client.StartOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	a := actor.New(actor.WithEnviron(srv.Env(run.ID)), actor.WithExitFunc(func(int) {}))
	defer a.Exit(ctx, actor.ExitOptions{})
	for page := 1; ; page++ {
		res, err := a.Charge(ctx, "page", 1)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("page %d: charged %d, limit reached: %t\n", page, res.ChargedCount, res.EventChargeLimitReached)
		if res.EventChargeLimitReached {
			break
		}
	}
	r, _ := srv.Run(run.ID)
	fmt.Println("the platform charged:", r.ChargedEventCounts)
	// Output:
	// page 1: charged 1, limit reached: false
	// page 2: charged 1, limit reached: false
	// page 3: charged 1, limit reached: false
	// page 4: charged 1, limit reached: true
	// the platform charged: map[page:4]
}
