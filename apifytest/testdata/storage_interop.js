// Drives an apifytest server's storage API with the official JS API client
// (apify-client) and prints what each call returned, as one JSON object,
// for TestJSClientStorageInterop. Environment: NODE_MODULES (where
// apify-client is installed), APIFY_API_BASE_URL, APIFY_TOKEN.
const path = require('path');
const { ApifyClient } = require(path.join(process.env.NODE_MODULES, 'apify-client'));

const client = new ApifyClient({
    baseUrl: process.env.APIFY_API_BASE_URL,
    token: process.env.APIFY_TOKEN,
    maxRetries: 2,
    minDelayBetweenRetriesMillis: 10,
});

async function collect(iterable) {
    const out = [];
    for await (const x of iterable) out.push(x);
    return out;
}

(async () => {
    const out = {};

    // Datasets: get-or-create, push (a batch large enough to be compressed),
    // list with filters, download as CSV, list of datasets.
    const ds = await client.datasets().getOrCreate('js-dataset');
    out.datasetAgain = (await client.datasets().getOrCreate('js-dataset')).id === ds.id;
    const items = [];
    for (let i = 0; i < 100; i++) items.push({ n: i, text: 'item '.repeat(5), '#hidden': i });
    await client.dataset(ds.id).pushItems(items);
    await client.dataset(ds.id).pushItems({ n: 100, text: 'one' });
    out.page = await client.dataset(ds.id).listItems({ offset: 95, limit: 3, desc: true, fields: ['n'] });
    out.clean = (await client.dataset(ds.id).listItems({ limit: 1, clean: true })).items;
    out.allCount = (await collect(client.dataset(ds.id).listItems({ chunkSize: 30 }))).length;
    out.csv = (await client.dataset(ds.id).downloadItems('csv', { limit: 2, fields: ['n', 'text'] })).toString();
    out.dataset = await client.dataset(ds.id).get();
    out.datasets = await client.datasets().list();

    // Key-value stores: records of JSON, text and bytes, keys in pages.
    const kv = await client.keyValueStores().getOrCreate('js-store');
    const store = client.keyValueStore(kv.id);
    await store.setRecord({ key: 'obj', value: { a: 1 } });
    await store.setRecord({ key: 'text', value: 'hello', contentType: 'text/plain' });
    await store.setRecord({ key: 'bin', value: Buffer.from([0, 1, 2, 255]), contentType: 'application/octet-stream' });
    for (let i = 0; i < 5; i++) await store.setRecord({ key: `page-${i}`, value: { i } });
    out.obj = (await store.getRecord('obj')).value;
    const text = await store.getRecord('text');
    out.text = { value: text.value, contentType: text.contentType };
    out.bin = [...(await store.getRecord('bin', { buffer: true })).value];
    out.missing = (await store.getRecord('nope')) === undefined;
    out.exists = [await store.recordExists('obj'), await store.recordExists('nope')];
    out.keysPage = await store.listKeys({ prefix: 'page-', limit: 2, exclusiveStartKey: 'page-0' });
    out.allKeys = (await collect(store.listKeys({ limit: 3 }))).map((k) => k.key);
    await store.deleteRecord('text');
    out.afterDelete = (await store.getRecord('text')) === undefined;

    // Request queues: add, batch add, head, lock, prolong, handle, reclaim,
    // delete, list.
    const rqInfo = await client.requestQueues().getOrCreate('js-queue');
    const rq = client.requestQueue(rqInfo.id, { clientKey: 'js-client' });
    out.added = await rq.addRequest({ url: 'https://example.com', uniqueKey: 'https://example.com' });
    out.addedAgain = await rq.addRequest({ url: 'https://example.com', uniqueKey: 'https://example.com' });
    const batch = [];
    for (let i = 1; i <= 20; i++) batch.push({ url: `https://example.com/${i}`, uniqueKey: `https://example.com/${i}`, userData: { i } });
    // One batch call (the client sends batches of more than 25 in parallel).
    const added = await rq.batchAddRequests(batch);
    out.batch = { processed: added.processedRequests.length, unprocessed: added.unprocessedRequests.length };
    await rq.addRequest({ url: 'https://example.com/first', uniqueKey: 'first' }, { forefront: true });
    out.head = await rq.listHead({ limit: 3 });
    out.locked = await rq.listAndLockHead({ lockSecs: 60, limit: 2 });
    const [l1, l2] = out.locked.items;
    out.prolonged = await rq.prolongRequestLock(l1.id, { lockSecs: 120 });
    const full = await rq.getRequest(l1.id);
    out.handled = await rq.updateRequest({ ...full, handledAt: new Date().toISOString() });
    await rq.deleteRequestLock(l2.id, { forefront: true });
    out.headAfter = await rq.listHead({ limit: 2 });
    const toDelete = await rq.getRequest(out.headAfter.items[1].id);
    await rq.deleteRequest(toDelete.id);
    out.deletedGone = (await rq.getRequest(toDelete.id)) === undefined;
    await rq.listAndLockHead({ lockSecs: 60, limit: 1 });
    out.unlocked = await rq.unlockRequests();
    out.listed = (await collect(rq.listRequests())).length;
    out.queue = await rq.get();

    // A run's default storages.
    const run = await client.actor('me~js-storage').start();
    await client.run(run.id).dataset().pushItems([{ run: true }]);
    out.runItems = (await client.run(run.id).dataset().listItems()).items;
    out.runQueue = await client.run(run.id).requestQueue().get();
    out.runID = run.id;

    process.stdout.write(JSON.stringify(out));
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
