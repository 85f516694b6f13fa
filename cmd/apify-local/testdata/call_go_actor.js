// The Node.js half of a two-Actor project, for TestRunTwoActors: an Actor
// written with the official JS SDK (apify) that calls the Go Actor bound
// under apify-local run --actor with Actor.call and an ad-hoc webhook for
// the callee's end, then reads the callee's log and charges through the
// client and prints what it saw, one "callee ..." line each. Arguments:
// the directory holding node_modules/apify, the Actor to call, the URL of
// the webhook.
const path = require('path');
const { Actor } = require(path.join(process.argv[2], 'node_modules', 'apify'));

(async () => {
    await Actor.init();
    const run = await Actor.call(process.argv[3], { from: 'node' }, {
        webhooks: [{ eventTypes: ['ACTOR.RUN.SUCCEEDED', 'ACTOR.RUN.FAILED'], requestUrl: process.argv[4] }],
    });
    const client = Actor.newClient();
    const log = await client.run(run.id).log().get();
    const again = await client.run(run.id).get();
    console.log(`callee status ${run.status} ${run.id}`);
    console.log(`callee log ${JSON.stringify(log)}`);
    console.log(`callee charged ${JSON.stringify(again.chargedEventCounts || {})}`);
    console.log(`callee containerUrl ${again.containerUrl}`);
    await Actor.exit('called');
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
