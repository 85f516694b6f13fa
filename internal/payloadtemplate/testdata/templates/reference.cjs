// Runs the Apify platform's own template renderer, WebhookPayloadTemplate from
// the npm package @apify/utilities, for the Go tests of payload_template.go.
//
//   node reference.cjs generate   reads cases.json beside this script and writes
//                                 conformance.json: every case with the
//                                 reference's result.
//   node reference.cjs serve      reads cases ({id, template, interpolate, vars,
//                                 allowed}) as JSON lines on stdin and writes
//                                 {id, withVars, empty} lines on stdout: the
//                                 results with the case's variables and with
//                                 none (used by TestPayloadTemplateDifferential).
//                                 The first line out is {defaultPayloadTemplate}.
//
// Run it with a working directory whose node_modules holds @apify/utilities and
// @apify/consts. To regenerate the table:
//
//   go test -run TestPayloadTemplateConformance -update-template-conformance ./internal/payloadtemplate/
//
// which installs the packages through internal/nodetest. By hand:
//
//   cd "$(mktemp -d)" && npm install @apify/utilities@2.35.11 @apify/consts@2.58.1 \
//     && node /path/to/testdata/templates/reference.cjs generate
//
// A case is {template, interpolate, vars, allowed}; vars is an object or the
// name of one of cases.json's varSets; allowed defaults to the platform's
// variables. A result is {result: value}, {undefined: true} (the reference
// returned undefined), {error: "InvalidJsonError" | "InvalidVariableError",
// message} or {timeout: true} (the reference did not finish in 2 s: it loops
// forever on some unclosed placeholders).
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');
const readline = require('readline');
const { createRequire } = require('module');

const load = createRequire(path.join(process.cwd(), 'index.js'));
const { WebhookPayloadTemplate } = load('@apify/utilities');
const consts = load('@apify/consts');

const PLATFORM_VARIABLES = ['userId', 'createdAt', 'eventType', 'eventData', 'resource', 'globals'];
const TIMEOUT_MS = 2000;

const sandbox = vm.createContext({});

function render(c, varSets) {
    const vars = typeof c.vars === 'string' ? varSets[c.vars] : c.vars || {};
    if (vars === undefined) throw new Error(`unknown varSet ${c.vars}`);
    // A fresh copy: the reference must not see objects another case touched.
    const context = JSON.parse(JSON.stringify(vars));
    const allowed = new Set(c.allowed || PLATFORM_VARIABLES);
    sandbox.run = () => WebhookPayloadTemplate.parse(c.template, allowed, context, { interpolateStrings: !!c.interpolate });
    try {
        // The timeout stops the reference's endless loop on some unclosed "{{".
        const out = vm.runInContext('run()', sandbox, { timeout: TIMEOUT_MS });
        const json = JSON.stringify(out);
        if (json === undefined) return { undefined: true };
        return { result: JSON.parse(json) };
    } catch (err) {
        if (err && err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { timeout: true };
        return { error: err.constructor.name, message: err.message };
    }
}

function generate() {
    const dir = __dirname;
    const input = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json'), 'utf8'));
    const pkg = path.join(process.cwd(), 'node_modules', '@apify', 'utilities', 'package.json');
    const utilitiesVersion = JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
    const out = {
        generatedBy: 'node testdata/templates/reference.cjs generate',
        reference: `@apify/utilities@${utilitiesVersion}`,
        defaultPayloadTemplate: consts.WEBHOOK_DEFAULT_PAYLOAD_TEMPLATE,
        varSets: input.varSets,
        cases: input.cases.map((c) => ({ ...c, reference: render(c, input.varSets) })),
    };
    fs.writeFileSync(path.join(dir, 'conformance.json'), `${JSON.stringify(out, null, 2)}\n`);
    process.stderr.write(`wrote ${out.cases.length} cases\n`);
}

function serve() {
    const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
    rl.on('line', (line) => {
        if (!line.trim()) return;
        const c = JSON.parse(line);
        // Also with no variables: that is how the platform checks a template
        // when a webhook is saved.
        const reply = { id: c.id, withVars: render(c, {}), empty: render({ ...c, vars: {} }, {}) };
        process.stdout.write(`${JSON.stringify(reply)}\n`);
    });
}

switch (process.argv[2]) {
    case 'generate':
        generate();
        break;
    case 'serve':
        process.stdout.write(`${JSON.stringify({ defaultPayloadTemplate: consts.WEBHOOK_DEFAULT_PAYLOAD_TEMPLATE })}\n`);
        serve();
        break;
    default:
        process.stderr.write('usage: node reference.cjs generate|serve\n');
        process.exit(2);
}
