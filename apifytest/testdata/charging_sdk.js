// An Actor written with the official JS SDK (apify) that charges, for the
// charging tests (of apifytest and apify-local). Argument: the directory
// holding node_modules/apify. It prints, as JSON, what each Actor.charge
// returned and the run's chargedEventCounts.
const path = require('path');
const { Actor } = require(path.join(process.argv[2], 'node_modules', 'apify'));

(async () => {
    await Actor.init();
    const results = [];
    for (let i = 0; i < 3; i++) {
        results.push(await Actor.charge({ eventName: 'page' }));
    }
    results.push(await Actor.charge({ eventName: 'result', count: 4 }));
    // More than the budget allows: the SDK charges what fits and one more.
    results.push(await Actor.charge({ eventName: 'page', count: 10 }));
    results.push(await Actor.charge({ eventName: 'page' }));
    const run = await Actor.apifyClient.run(process.env.ACTOR_RUN_ID).get();
    console.log(JSON.stringify({
        results,
        platform: run.chargedEventCounts,
        charged: Actor.getChargingManager().getChargedEventCount('page'),
        max: Actor.getChargingManager().getMaxTotalChargeUsd(),
    }));
    await Actor.exit();
})();
