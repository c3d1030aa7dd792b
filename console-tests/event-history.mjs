// The console's Event history in Debian's Chromium, driven by Playwright: the page shows what
// LookupEvents answers (expectations come from client-tests, which asked the API itself),
// filters, pages both ways, opens and compares events, downloads CSV and JSON, and shows a new
// call in the live view. Prints one JSON line per finished check; exits non-zero on a failure.
//
// node event-history.mjs <console url> <expectations.json> <out dir> [<screenshot dir>]

import { chromium } from "playwright-core";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const [url, expectationsPath, outDir, shotDir] = process.argv.slice(2);
const expected = JSON.parse(readFileSync(expectationsPath, "utf8"));

function check(name, ok, detail) {
  console.log(JSON.stringify({ check: name, ok, detail }));
  if (!ok) {
    throw new Error(`${name}: ${JSON.stringify(detail)}`);
  }
}

async function shot(page, name) {
  if (shotDir) await page.screenshot({ path: join(shotDir, `${name}.png`), fullPage: false });
}

// Waits for the harness (on stdin) to say a line, after asking it with `ask`.
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
async function ask(what) {
  console.log(JSON.stringify({ ask: what }));
  const { value } = await lines.next();
  return JSON.parse(value);
}

async function eventIds(page) {
  return page.$$eval("#rows tr[data-event-id]", (rows) => rows.map((r) => r.dataset.eventId));
}

async function waitForLoad(page) {
  await page.waitForFunction(() => !document.getElementById("status").textContent.startsWith("Loading"));
}

// The filter the expectations were taken with (LookupEvents calls are events too, so the
// unfiltered list grows with every expectation the harness asked for).
async function baseFilter(page) {
  await page.selectOption("#attribute", expected.filter.key);
  await page.fill("#value", expected.filter.value);
  await page.click("#apply");
  await waitForLoad(page);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector("#rows tr[data-event-id]");
  await waitForLoad(page);

  // The default columns, in the console's order.
  const headers = await page.$$eval("#head th", (ths) => ths.map((t) => t.textContent));
  check("default columns", JSON.stringify(headers.slice(1)) === JSON.stringify(["Event time", "User name", "Event name", "Resource type", "Resource name"]), headers);

  // Page size 10, then forward through every page and back: the same ids as LookupEvents.
  await page.click("#prefs-toggle");
  await page.check("input[name=pagesize][value='10']");
  await waitForLoad(page);
  await page.click("#prefs-toggle");
  await baseFilter(page);
  await shot(page, "event-history");
  const seen = [];
  let pages = 0;
  for (;;) {
    seen.push(...(await eventIds(page)));
    pages += 1;
    if (await page.isDisabled("#next")) break;
    await page.click("#next");
    await waitForLoad(page);
  }
  check("pages forward match LookupEvents", JSON.stringify(seen) === JSON.stringify(expected.all), { seen: seen.length, expected: expected.all.length, pages });
  for (let i = pages; i > 1; i--) {
    await page.click("#prev");
    await waitForLoad(page);
  }
  const firstAgain = await eventIds(page);
  check("pages back to the first", JSON.stringify(firstAgain) === JSON.stringify(expected.all.slice(0, 10)), firstAgain);

  // The preference is remembered: a reload keeps page size 10.
  await page.reload();
  await page.waitForSelector("#rows tr[data-event-id]");
  await waitForLoad(page);
  check("page size remembered", (await eventIds(page)).length === Math.min(10, expected.all.length), await eventIds(page));

  // An optional column from Preferences.
  await page.click("#prefs-toggle");
  await page.check("#columns input[value=errorCode]");
  const withError = await page.$$eval("#head th", (ths) => ths.map((t) => t.textContent));
  check("optional column shown", withError.includes("Error code"), withError);
  await page.click("#prefs-toggle");

  // Each lookup attribute, one at a time, as LookupEvents filters it.
  for (const f of expected.filters) {
    await page.selectOption("#attribute", f.key);
    await page.fill("#value", f.value);
    await page.click("#apply");
    await waitForLoad(page);
    const got = [];
    for (;;) {
      got.push(...(await eventIds(page)));
      if (await page.isDisabled("#next")) break;
      await page.click("#next");
      await waitForLoad(page);
    }
    check(`filter ${f.key}`, JSON.stringify(got) === JSON.stringify(f.ids), { got: got.length, expected: f.ids.length });
  }
  await page.click("#clear");
  await waitForLoad(page);

  // A time range: the last hour holds everything here; an absolute range in the past, nothing.
  await page.selectOption("#range", "3600");
  await page.click("#apply");
  await waitForLoad(page);
  check("relative range", (await eventIds(page)).length > 0, null);
  await page.selectOption("#range", "custom");
  await page.fill("#start", "2020-01-01T00:00");
  await page.fill("#end", "2020-01-02T00:00");
  await page.click("#apply");
  await waitForLoad(page);
  check("absolute range", (await eventIds(page)).length === 0, await eventIds(page));
  await page.click("#clear");
  await waitForLoad(page);

  // An event's detail: its summary, resources and record.
  const denied = expected.denied;
  await page.selectOption("#attribute", "EventId");
  await page.fill("#value", denied);
  await page.click("#apply");
  await waitForLoad(page);
  await page.click(`#rows tr[data-event-id='${denied}']`);
  await page.waitForSelector("#detail:not([hidden])");
  const record = JSON.parse(await page.textContent("#record"));
  check("detail shows the record", record.eventID === denied && record.errorCode === "AccessDenied", record.errorCode);
  const summary = await page.textContent("#summary");
  check("detail summary", summary.includes("AccessDenied") && summary.includes("intern"), summary);
  await shot(page, "event-detail");
  await page.click("#detail-close");
  await page.click("#clear");
  await waitForLoad(page);

  // A resource's link lists every event that names it.
  const withResource = expected.filters.find((f) => f.key === "ResourceName");
  await page.selectOption("#attribute", "EventId");
  await page.fill("#value", withResource.ids[0]);
  await page.click("#apply");
  await waitForLoad(page);
  await page.click(`#rows tr[data-event-id='${withResource.ids[0]}']`);
  await page.click("#detail .resource-link");
  await waitForLoad(page);
  const linked = await eventIds(page);
  check("a resource link lists its events", (await page.inputValue("#attribute")) === "ResourceName" && JSON.stringify(linked) === JSON.stringify(withResource.ids), linked);

  // Two events side by side.
  await baseFilter(page);
  const boxes = await page.$$("#rows input[type=checkbox]");
  await boxes[0].check();
  await boxes[1].check();
  await page.click("#compare");
  await page.waitForSelector("#comparison:not([hidden])");
  const left = JSON.parse(await page.textContent("#left"));
  const right = JSON.parse(await page.textContent("#right"));
  check("compare two events", left.eventID === expected.all[0] && right.eventID === expected.all[1], [left.eventID, right.eventID]);
  await page.click("#comparison-close");

  // Downloads: the files hold what LookupEvents holds, CSV formulas defused.
  await baseFilter(page);
  for (const format of ["csv", "json"]) {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(`#download-${format}`)]);
    const path = join(outDir, download.suggestedFilename());
    await download.saveAs(path);
    const text = readFileSync(path, "utf8");
    let ids;
    if (format === "json") {
      ids = JSON.parse(text).Records.map((r) => r.eventID);
    } else {
      const rows = text.trim().split("\r\n");
      check("csv header", rows[0].startsWith("Event ID,Event time,User name,Event name"), rows[0]);
      ids = rows.slice(1).map((r) => r.split(",")[0]);
      check("csv formula defused", text.includes(`"'=HYPERLINK`), null);
    }
    check(`download ${format}`, download.suggestedFilename() === `event_history.${format}` && JSON.stringify(ids) === JSON.stringify(expected.all), { file: download.suggestedFilename(), got: ids.length });
  }

  // Trails: the built-in trail with its status, and the log files it delivered today.
  await page.click("#tab-trails");
  await page.waitForSelector("#trails tbody tr");
  const trailRow = await page.textContent("#trails tbody tr");
  check("trails list", trailRow.includes("management-events") && trailRow.includes("Logging"), trailRow);
  await page.selectOption("#browse-kind", "CloudTrail");
  await page.click("#browse button[type=submit]");
  await page.waitForSelector("#files tbody tr");
  const files = await page.$$eval("#files tbody tr td:first-child", (tds) => tds.map((t) => t.textContent));
  check("delivered log files listed", files.length >= 1 && files.every((k) => k.includes("/CloudTrail/us-east-1/") && k.endsWith(".json.gz")), files);
  await page.click("#files tbody tr button");
  await page.waitForSelector("#file:not([hidden])");
  const fileSummary = await page.textContent("#file-summary");
  const fileRecords = JSON.parse(await page.textContent("#file-body")).Records;
  check("a log file's records", fileRecords.length > 0 && fileSummary === `${fileRecords.length} records`, fileSummary);
  await shot(page, "trails");
  const [object] = await Promise.all([page.waitForEvent("download"), page.click("#files tbody tr a")]);
  check("a log file downloads", object.suggestedFilename() === files[0].split("/").pop(), object.suggestedFilename());
  await page.click("#tab-history");
  await waitForLoad(page);

  // Live view: a call made now shows up within a second or two.
  await page.check("#live");
  const made = await ask("make-a-call");
  await page.waitForSelector(`#rows tr.new[data-event-id='${made.eventId}']`, { timeout: 5000 });
  check("live view shows a new call", true, made.eventId);
  await shot(page, "live-view");
  await page.uncheck("#live");

  // Health.
  await page.click("#health-toggle");
  await page.waitForSelector("#health-list dt");
  check("health panel", (await page.textContent("#health-list")).includes("Records waiting in batches"), null);

  check("no script errors", errors.length === 0, errors);
  writeFileSync(join(outDir, "done"), "ok");
} finally {
  await browser.close();
  input.close();
}
