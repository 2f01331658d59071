// Headless Chromium as a WebSocket peer, driven by playwright-core: opens
// the page at argv[2] (served by the Go test's server: testdata/browser/),
// whose script runs its checks with the browser's own WebSocket and reports
// each result through window.report. Every report is printed as one JSON
// line on stdout; the page's last report is {"check":"done"}.
//
//   node browser.mjs PAGE_URL CHROMIUM_PATH [TIMEOUT_MS [CHROMIUM_ARG...]]
//
// The CHROMIUM_ARGs are added to Chromium's command line (for HTTPS pages:
// --ignore-certificate-errors-spki-list=HASH to trust the test's
// certificate).
//
// Exits 0 once the page reported done; on a launch failure, a page error or
// the time-out it prints {"check":"driver","ok":false,"detail":...} and
// exits 1.
import { chromium } from 'playwright-core';

const [pageURL, executablePath = '/usr/bin/chromium', timeoutArg = '120000', ...extraArgs] = process.argv.slice(2);
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');

let browser;
async function fail(detail) {
  print({ check: 'driver', ok: false, detail });
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}
const timer = setTimeout(() => fail('timed out after ' + timeoutArg + ' ms'), Number(timeoutArg));

try {
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', ...extraArgs],
  });
  const page = await browser.newPage();
  let finished;
  const done = new Promise((resolve) => { finished = resolve; });
  await page.exposeFunction('report', (r) => {
    print(r);
    if (r && r.check === 'done') finished();
  });
  page.on('pageerror', (e) => fail('page error: ' + e.message));
  page.on('console', (m) => process.stderr.write('console.' + m.type() + ': ' + m.text() + '\n'));
  await page.goto(pageURL);
  await done;
  clearTimeout(timer);
  await browser.close();
  process.exit(0);
} catch (e) {
  await fail(String((e && e.stack) || e));
}
