// Drives an apifytest server with the official JS API client (apify-client)
// and prints what each call returned, as one JSON object, for
// TestJSClientInterop. Environment: NODE_MODULES (where apify-client is
// installed), APIFY_API_BASE_URL, APIFY_TOKEN, RECEIVER (a webhook receiver).
const path = require('path');
const { ApifyClient } = require(path.join(process.env.NODE_MODULES, 'apify-client'));

const client = new ApifyClient({
    baseUrl: process.env.APIFY_API_BASE_URL,
    token: process.env.APIFY_TOKEN,
    maxRetries: 2,
    minDelayBetweenRetriesMillis: 10,
});
const receiver = process.env.RECEIVER;

async function failure(fn) {
    try {
        await fn();
        return null;
    } catch (e) {
        return { statusCode: e.statusCode, type: e.type, message: e.message };
    }
}

(async () => {
    const out = {};
    const definition = {
        eventTypes: ['ACTOR.RUN.SUCCEEDED'],
        condition: { actorId: 'me~interop' },
        requestUrl: `${receiver}/persistent`,
        idempotencyKey: 'interop-key',
    };
    out.created = await client.webhooks().create(definition);
    out.again = await client.webhooks().create(definition);
    out.got = await client.webhook(out.created.id).get();
    out.updated = await client.webhook(out.created.id).update({ description: 'updated' });
    out.list = await client.webhooks().list({ limit: 10, desc: true });
    out.test = await client.webhook(out.created.id).test();
    out.invalid = await failure(() => client.webhooks().create({ ...definition, idempotencyKey: undefined, payloadTemplate: '{"a": {{resource.id}' }));

    const run = await client.actor('me~interop').start({ hello: 'world', padding: 'x'.repeat(4000) }, {
        webhooks: [{ eventTypes: ['ACTOR.RUN.SUCCEEDED'], requestUrl: `${receiver}/adhoc`, payloadTemplate: '{"id": {{resource.id}}}' }],
        memory: 256,
        timeout: 60,
    });
    out.run = run;
    out.finished = await client.run(run.id).waitForFinish({ waitSecs: 20 });
    out.input = await client.keyValueStore(run.defaultKeyValueStoreId).getRecord('INPUT');
    out.badWebhooks = await failure(() => client.actor('me~interop').start({}, { webhooks: [{ requestUrl: `${receiver}/x` }] }));
    out.missingRun = await client.run('nonexistentrun000').get();
    out.dispatches = await client.webhookDispatches().list();
    out.dispatch = await client.webhookDispatch(out.dispatches.items[0].id).get();

    const aborted = await client.actor('me~idle').start();
    out.aborted = await client.run(aborted.id).abort();
    out.statusUpdate = await client.run(aborted.id).update({ statusMessage: 'bye', isStatusMessageTerminal: true });
    out.deleted = await client.webhook(out.created.id).delete();
    out.afterDelete = await client.webhook(out.created.id).get();
    console.log(JSON.stringify(out));
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
