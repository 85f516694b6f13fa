// An Actor written with the official JS SDK (apify), for the tests of
// apify-local run. Arguments: the directory holding node_modules/apify, the
// URL of a webhook to add for the run's end, and "fail" to fail the run.
const path = require('path');
const { Actor } = require(path.join(process.argv[2], 'node_modules', 'apify'));

(async () => {
    await Actor.init();
    const input = await Actor.getInput();
    console.log(`input: ${JSON.stringify(input)}`);
    await Actor.addWebhook({
        eventTypes: ['ACTOR.RUN.SUCCEEDED', 'ACTOR.RUN.FAILED'],
        requestUrl: process.argv[3],
        headersTemplate: '{"X-From": "sdk"}',
    });
    await Actor.setValue('OUTPUT', { got: input });
    await Actor.pushData({ item: 1 });
    await Actor.setStatusMessage('almost done');
    if (process.argv[4] === 'fail') {
        await Actor.fail('failing on purpose');
    } else {
        await Actor.exit('all done');
    }
})();
