// An Actor written with the official JS SDK (apify) that lives through a
// migration and a reboot, for the tests of apify-local run. Arguments: the
// directory holding node_modules/apify, and the URL of the webhook to add
// for the run's success (with the run ID as its idempotency key).
//
// Its state counts its starts. On the first it waits until its events
// websocket is open (the first systemInfo), asks the local platform to
// migrate the run, and waits to be killed; on the second it reboots; on the
// third it exits.
const path = require('path');
const { Actor } = require(path.join(process.argv[2], 'node_modules', 'apify'));

(async () => {
    await Actor.init();
    const state = await Actor.useState('STATE', { starts: 0 });
    state.starts += 1;
    const hook = await Actor.addWebhook({
        eventTypes: ['ACTOR.RUN.SUCCEEDED'],
        requestUrl: process.argv[3],
        idempotencyKey: process.env.ACTOR_RUN_ID,
    });
    console.log(`start ${state.starts} webhook ${hook.id}`);
    if (state.starts === 1) {
        Actor.on('migrating', () => console.log('heard migrating'));
        await new Promise((resolve) => { Actor.on('systemInfo', resolve); });
        const url = `${process.env.APIFY_API_BASE_URL}/_apifytest/runs/${process.env.ACTOR_RUN_ID}/migrate`;
        fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${process.env.APIFY_TOKEN}` } }).catch(() => {});
        await new Promise(() => {}); // killed at the end of the migration's grace
    }
    if (state.starts === 2) {
        console.log('rebooting');
        await Actor.reboot();
    }
    await Actor.exit(`done after ${state.starts} starts`);
})();
