'use strict';
// Actor.addWebhook of the official JS SDK, run as an Actor on the local
// platform (its environment comes from the bench).
//   node addwebhook.js latency OUTPUT.json CALLS WARMUP PREFIX
//     WARMUP untimed calls, then CALLS sequential calls, each timed.
//   node addwebhook.js faults OUTPUT.json CALLS WORKERS PREFIX
//     CALLS calls, WORKERS at a time, counting those that throw.
// Call i adds a webhook for ACTOR.RUN.SUCCEEDED with request URL PREFIX + i.
const fs = require('fs');
const { Actor, log } = require('apify');

const [mode, output, callsArg, fourth, prefix] = process.argv.slice(2);
const calls = Number(callsArg);
const hook = (i) => ({ eventTypes: ['ACTOR.RUN.SUCCEEDED'], requestUrl: `${prefix}${i}` });

async function latency(warmup) {
    for (let i = 0; i < warmup; i++) await Actor.addWebhook(hook(`warmup-${i}`));
    const latenciesNs = [];
    for (let i = 0; i < calls; i++) {
        const start = process.hrtime.bigint();
        await Actor.addWebhook(hook(i));
        latenciesNs.push(Number(process.hrtime.bigint() - start));
    }
    return { latenciesNs };
}

async function faults(workers) {
    let next = 0;
    const errors = [];
    const worker = async () => {
        while (next < calls) {
            const i = next++;
            try {
                await Actor.addWebhook(hook(i));
            } catch (e) {
                errors.push({ call: i, message: String((e && e.message) || e) });
            }
        }
    };
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: workers }, worker));
    return { errors: errors.length, samples: errors.slice(0, 3), elapsedNs: Number(process.hrtime.bigint() - start) };
}

(async () => {
    log.setLevel(log.LEVELS.ERROR);
    await Actor.init();
    const result = mode === 'latency' ? await latency(Number(fourth)) : await faults(Number(fourth));
    fs.writeFileSync(output, JSON.stringify(result));
    // No Actor.exit(): it would end the run on the platform.
    process.exit(0);
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
