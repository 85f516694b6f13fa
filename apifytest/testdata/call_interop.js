// Calls another Actor with the official JS SDK (apify) as an Actor run of
// the apifytest server, for TestJSSDKCallInterop: Actor.call (which looks
// the Actor up, starts it, prints its log as it streams and waits for it),
// the callee's log, last run (and its dataset) and run list through the
// client, the user and its limits, the run's deletion, and a proxy
// configuration, which must fail saying that there is no proxy. Writes
// what it saw to its OUTPUT record. Environment: the run's (Server.Env)
// and NODE_MODULES (where apify is installed).
const path = require('path');
const NM = process.env.NODE_MODULES;
const { Actor } = require(path.join(NM, 'apify'));

(async () => {
    await Actor.init();
    const run = await Actor.call('someone~other', { greeting: 'hello' });
    const client = Actor.newClient();
    const log = await client.run(run.id).log().get();
    const missingLog = await client.log('NoSuchRunAtAll00').get();
    const last = await client.actor('someone~other').lastRun({ status: 'SUCCEEDED' }).get();
    const actor = await client.actor(run.actId).get();
    const me = await client.user('me').get();
    const limits = await client.user('me').limits();
    const runs = await client.actor('someone~other').runs().list({ desc: true, status: 'SUCCEEDED' });
    const lastItems = await client.actor('someone~other').lastRun().dataset().listItems();
    await client.run(run.id).delete();
    const deleted = await client.run(run.id).get();
    let proxyError = null;
    try {
        await Actor.createProxyConfiguration();
    } catch (e) {
        proxyError = e.message;
    }
    await Actor.setValue('OUTPUT', {
        runId: run.id,
        status: run.status,
        log,
        missingLog: missingLog === undefined ? 'undefined' : missingLog,
        lastRunId: last && last.id,
        actorName: actor && `${actor.username}~${actor.name}`,
        username: me.username,
        activeJobs: limits.current.activeActorJobCount,
        listed: runs.items.map((r) => r.id),
        lastItems: lastItems.items,
        deleted: deleted === undefined,
        proxyError,
    });
    await Actor.exit();
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
