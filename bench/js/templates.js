'use strict';
// Times WebhookPayloadTemplate of @apify/utilities, the platform's renderer,
// on the cases in the input file: each operation parses a template with the
// event's variables and serialises the result to the JSON body, as a
// delivery does. Usage: node templates.js INPUT.json OUTPUT.json
const fs = require('fs');
const { WebhookPayloadTemplate } = require('@apify/utilities');

const [input, output] = process.argv.slice(2);
const { cases, budgetMs, allowedVariables } = JSON.parse(fs.readFileSync(input, 'utf8'));
const allowed = new Set(allowedVariables);
const budget = BigInt(Math.round(budgetMs * 1e6));
const results = {};
let sink = 0;

for (const c of cases) {
    const op = () => JSON.stringify(WebhookPayloadTemplate.parse(c.template, allowed, c.vars, { interpolateStrings: c.interpolate }));
    // Warm-up: a quarter of the budget, counting the first run, whose
    // result is kept to check that both sides render the same body.
    let start = process.hrtime.bigint();
    const rendered = op();
    while (process.hrtime.bigint() - start < budget / 4n) sink += op().length;
    // Ten batches share the budget; the figure is the median batch's, so
    // that a collection or a neighbour's burst in one batch does not move
    // it. A case timed once (seconds per run) has one batch.
    const batches = c.minIterations >= 10 ? 10 : 1;
    const perBatch = [];
    let n = 0;
    for (let batch = 0; batch < batches; batch++) {
        let k = 0;
        let elapsed;
        start = process.hrtime.bigint();
        do {
            sink += op().length;
            k++;
            elapsed = process.hrtime.bigint() - start;
        } while (k < Math.ceil(c.minIterations / batches) || elapsed < budget / BigInt(batches));
        perBatch.push(Number(elapsed) / k);
        n += k;
    }
    perBatch.sort((a, b) => a - b);
    const nsPerOp = (perBatch[(batches - 1) >> 1] + perBatch[batches >> 1]) / 2;
    results[c.name] = { nsPerOp, iterations: n, rendered };
}
fs.writeFileSync(output, JSON.stringify({ results, sink }));
