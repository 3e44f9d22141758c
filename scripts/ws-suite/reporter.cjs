// A mocha reporter for ws's tests run against edgews (run.mjs reads what it writes). Before the
// run it marks as pending the tests listed in exclusions.cjs (they inspect ws's private
// internals, which edgews does not have) and those a previous run of the same file already
// settled (run.mjs reruns a file whose process a test ended). It appends one JSON line per event
// to the file EDGEWS_WS_LOG names: the tests there are, then each test's start and outcome.
'use strict';

const fs = require('fs');
const Mocha = require('mocha');

const { EVENT_RUN_END, EVENT_TEST_BEGIN, EVENT_TEST_FAIL, EVENT_TEST_PASS, EVENT_TEST_PENDING } = Mocha.Runner.constants;
const exclusions = new Map(require('./exclusions.cjs').map((e) => [e.title, e.reason]));
const settled = new Set(JSON.parse(process.env.EDGEWS_WS_SETTLED || '[]'));
const log = (entry) => fs.appendFileSync(process.env.EDGEWS_WS_LOG, JSON.stringify(entry) + '\n');

class EdgewsSuiteReporter extends Mocha.reporters.Base {
  constructor(runner, options) {
    super(runner, options);
    const tests = [...allTests(runner.suite)];
    log({ tests: tests.map((test) => test.fullTitle()) });
    for (const test of tests) {
      if (exclusions.has(test.fullTitle()) || settled.has(test.fullTitle())) test.pending = true;
    }
    runner.on(EVENT_TEST_BEGIN, (test) => log({ title: test.fullTitle(), outcome: 'running' }));
    runner.on(EVENT_TEST_PASS, (test) => {
      log({ title: test.fullTitle(), outcome: 'passed' });
      process.stdout.write('.');
    });
    runner.on(EVENT_TEST_FAIL, (test, error) => {
      // A hook's failure is logged under the test it was running for (or the hook's own title).
      const title = test.type === 'hook' && test.ctx && test.ctx.currentTest ? test.ctx.currentTest.fullTitle() : test.fullTitle();
      log({ title, outcome: 'failed', message: firstLine(error) });
      process.stdout.write('F');
    });
    runner.on(EVENT_TEST_PENDING, (test) => {
      if (settled.has(test.fullTitle())) return;
      const title = test.fullTitle();
      log({ title, outcome: exclusions.has(title) ? 'excluded' : 'skipped' });
    });
    runner.once(EVENT_RUN_END, () => log({ end: true }));
  }
}

function* allTests(suite) {
  yield* suite.tests;
  for (const child of suite.suites) yield* allTests(child);
}

function firstLine(error) {
  const text = error && error.message !== undefined ? `${error.name || 'Error'}: ${error.message}` : String(error);
  return text.split('\n')[0].slice(0, 300);
}

module.exports = EdgewsSuiteReporter;
