// A Crawlee BasicCrawler run with the official JS SDK (apify), for the
// crawler interop test of apify-local run. Arguments: the directory holding
// node_modules, the start URL of the site, and a file to write the run's
// API base URL, token and default request queue ID to (for the test's
// receiver to call the API with).
//
// It crawls the site through the run's default request queue, following
// every link, pushes one item per page to the named dataset crawl-results,
// stores one record per page in the named key-value store crawl-state,
// then lists that store's keys with forEachKey and prints them.
const fs = require('fs');
const path = require('path');
const modules = path.join(process.argv[2], 'node_modules');
const { Actor } = require(path.join(modules, 'apify'));
const { BasicCrawler } = require(path.join(modules, '@crawlee', 'basic'));

const [startUrl, apiFile] = process.argv.slice(3);

(async () => {
    await Actor.init();
    fs.writeFileSync(apiFile, [process.env.APIFY_API_BASE_URL, process.env.APIFY_TOKEN,
        process.env.ACTOR_DEFAULT_REQUEST_QUEUE_ID].join('\n'));
    const results = await Actor.openDataset('crawl-results');
    const state = await Actor.openKeyValueStore('crawl-state');
    const crawler = new BasicCrawler({
        maxConcurrency: 4,
        async requestHandler({ request, addRequests }) {
            const res = await fetch(request.url);
            if (!res.ok) throw new Error(`${request.url}: status ${res.status}`);
            const html = await res.text();
            const title = /<title>([^<]*)<\/title>/.exec(html)[1];
            const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => new URL(m[1], request.url).href);
            await addRequests(links);
            await results.pushData({ url: request.url, title, links: links.length });
            await state.setValue(`page-${new URL(request.url).pathname.replace(/\W+/g, '-')}`, { title });
        },
    });
    const stats = await crawler.run([startUrl]);
    const keys = [];
    await state.forEachKey(async (key) => { keys.push(key); });
    console.log(`crawled: ${stats.requestsFinished} finished, ${stats.requestsFailed} failed`);
    console.log(`keys: ${keys.join(',')}`);
    await Actor.exit();
})().catch(async (e) => {
    console.error(e);
    await Actor.fail(String(e));
});
