package main

import (
	"fmt"
	"os"

	"github.com/go-apify/actor/apifytest"
)

// pricingUsage is the help of --pricing.
const pricingUsage = "JSON `FILE` of the runs' pricing: the platform's pricingInfo (pricingModel, pricingPerEvent.actorChargeEvents " +
	"with each event's eventPriceUsd), or {\"pricingInfo\": ..., \"maxTotalChargeUsd\": N}; runs get it, " +
	"APIFY_ACTOR_PRICING_INFO and ACTOR_MAX_TOTAL_CHARGE_USD, and accept charges (POST /v2/actor-runs/{id}/charge)"

// maxPricingFile bounds the file --pricing reads.
const maxPricingFile = 1 << 20

// pricingFlag is --pricing FILE: the pricing read from FILE.
type pricingFlag struct {
	path    string
	pricing apifytest.Pricing
}

func (f *pricingFlag) String() string { return f.path }

func (f *pricingFlag) Set(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() > maxPricingFile {
		return fmt.Errorf("%s is larger than %d bytes", path, maxPricingFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	p, err := apifytest.ParsePricing(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	f.path, f.pricing = path, p
	return nil
}
