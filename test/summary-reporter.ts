// Mocha's spec output plus the closing line CI reads: `N passed, N failed`.
import * as Mocha from "mocha";

class SummaryReporter extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        let passed = 0;
        let failed = 0;
        runner.on(Mocha.Runner.constants.EVENT_TEST_PASS, () => passed++);
        runner.on(Mocha.Runner.constants.EVENT_TEST_FAIL, () => failed++);
        // Registered after Spec's own epilogue listener, so this is the last line.
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => console.log(`${passed} passed, ${failed} failed`));
    }
}

export = SummaryReporter;
