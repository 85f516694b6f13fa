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
    let n = 0;
    let elapsed;
    start = process.hrtime.bigint();
    do {
        sink += op().length;
        n++;
        elapsed = process.hrtime.bigint() - start;
    } while (n < c.minIterations || elapsed < budget);
    results[c.name] = { nsPerOp: Number(elapsed) / n, iterations: n, rendered };
}
fs.writeFileSync(output, JSON.stringify({ results, sink }));
