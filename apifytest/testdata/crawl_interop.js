// Crawls a loopback site as an Actor run with the official JS SDK (apify)
// and Crawlee's RequestQueue, storing in named storages of the apifytest
// server that runs it, for TestJSSDKCrawlInterop. Environment: the run's
// (Server.Env), NODE_MODULES (where apify is installed) and SITE (the
// site's URL). One request is given back once (reclaimed), as a failed
// attempt would be.
const path = require('path');
const NM = process.env.NODE_MODULES;
const { Actor } = require(path.join(NM, 'apify'));

(async () => {
    await Actor.init();
    const rq = await Actor.openRequestQueue('crawl-queue');
    await rq.addRequests([{ url: `${process.env.SITE}/0` }]);
    const ds = await Actor.openDataset('crawl-results');
    const kv = await Actor.openKeyValueStore('crawl-pages');
    let fetched = 0;
    let reclaimed = false;
    for (;;) {
        const req = await rq.fetchNextRequest();
        if (!req) {
            if (await rq.isFinished()) break;
            continue;
        }
        const body = await (await fetch(req.url)).text();
        fetched++;
        if (!reclaimed && fetched === 3) {
            reclaimed = true;
            await rq.reclaimRequest(req);
            continue;
        }
        const links = [...body.matchAll(/href="([^"]+)"/g)].map((m) => ({ url: new URL(m[1], req.url).href }));
        if (links.length) await rq.addRequests(links);
        const title = body.match(/<title>(.*)<\/title>/)[1];
        await ds.pushData({ url: req.url, title });
        await kv.setValue(`page-${title.replace(/\D/g, '')}`, { url: req.url, links: links.length });
        await rq.markRequestHandled(req);
    }
    const keys = [];
    await kv.forEachKey(async (key) => { keys.push(key); });
    await Actor.setValue('OUTPUT', { fetched, keys: keys.length });
    await Actor.exit({ exit: false });
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
