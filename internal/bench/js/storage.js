'use strict';
// Actor.pushData and Actor.setValue of the official JS SDK, run as an Actor
// on the local platform or with local files (its environment comes from
// the bench).
//   node storage.js OUTPUT.json ITEMS RECORDS RECORD_BYTES [LOCAL_DIR]
// Pushes ITEMS small items to the default dataset in one call with an
// array, then sets RECORDS records of RECORD_BYTES bytes each, one call
// after the other, each made just before it is set. With LOCAL_DIR (local files), a timing ends only when
// the files are on disk: crawlee's memory storage writes them in the
// background after the call returns, and its teardown() waits for those
// writes.
const fs = require('fs');
const { Actor, log } = require('apify');

const [output, itemsArg, recordsArg, bytesArg, localDir] = process.argv.slice(2);
const items = Number(itemsArg);
const records = Number(recordsArg);
const recordBytes = Number(bytesArg);

// item and record build the same values as the Go side (storage.go).
const item = (i) => ({ url: `https://example.com/page/${i}`, title: `Page ${i} of the bench site, a small item`, n: i });
// Every record is the same bytes but its first eight, its number; each is
// a new copy made just before it is set, as an Actor producing them would.
const recordBase = Buffer.alloc(recordBytes);
for (let j = 0; j < recordBytes; j++) recordBase[j] = j % 251;
const record = (i) => {
    const b = Buffer.from(recordBase);
    b.writeBigUInt64BE(BigInt(i));
    return b;
};

// selfHWM returns the process's peak RSS (VmHWM of /proc/self/status) in
// bytes, or 0 where there is none; see storage.go.
function selfHWM() {
    try {
        const m = /^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
        return m ? Number(m[1]) * 1024 : 0;
    } catch {
        return 0;
    }
}

// flushed waits for the local files to be written.
async function flushed() {
    if (localDir) await Actor.config.getStorageClient().teardown();
}

(async () => {
    log.setLevel(log.LEVELS.ERROR);
    await Actor.init();
    const data = Array.from({ length: items }, (_, i) => item(i));

    let start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    await Actor.pushData(data);
    await flushed();
    const pushNs = Number(process.hrtime.bigint() - start);
    const pushHwmBytes = selfHWM();
    const pushCpu = process.cpuUsage(cpu);
    const pushCpuNs = (pushCpu.user + pushCpu.system) * 1000;

    start = process.hrtime.bigint();
    for (let i = 0; i < records; i++) {
        await Actor.setValue(`record-${i}`, record(i), { contentType: 'application/octet-stream' });
    }
    await flushed();
    const setNs = Number(process.hrtime.bigint() - start);

    fs.writeFileSync(output, JSON.stringify({ pushNs, setNs, hwmBytes: selfHWM(), pushHwmBytes, pushCpuNs }));
    // No Actor.exit(): it would end the run on the platform.
    process.exit(0);
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
