// Tests of one file that share what is costly to open (a database, processor simulators, API
// instances), opened once before the first and closed after the last, whatever happened in
// between. Deno has no afterAll: the suite is one Deno.test whose steps are the file's tests,
// in the order they are declared.
//
//   let db: TestDatabase;
//   const test = suite("payment status", async (defer) => {
//     db = await createTestDatabase("payment_status");
//     defer(() => db.drop());
//   });
//   test("400 for a malformed id", async () => { … db.sql … });
//
// `setup` runs when the suite starts (not when the file is loaded, so a filtered-out suite
// opens nothing). `defer` registers a cleanup; cleanups run in reverse order once the last test
// has ended, also when a test failed or `setup` itself threw half-way. A failed test does not
// stop the next ones, as with separate Deno.test calls.

/** Registers a cleanup to run after the suite's last test, in reverse order of registration. */
export type Defer = (cleanup: () => unknown) => void;

/** Declares one test of the suite: the arguments of Deno.test, run as a step. */
export interface SuiteTest {
  (name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void;
  (definition: Deno.TestStepDefinition): void;
}

export function suite(name: string, setup: (defer: Defer) => Promise<void>): SuiteTest {
  const tests: Deno.TestStepDefinition[] = [];
  Deno.test(name, async (t) => {
    const cleanups: (() => unknown)[] = [];
    const errors: unknown[] = [];
    try {
      await setup((cleanup) => cleanups.push(cleanup));
      for (const test of tests) await t.step(test);
    } catch (err) {
      errors.push(err);
    }
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${name}: setup and cleanup failed`);
  });
  return (
    nameOrDefinition: string | Deno.TestStepDefinition,
    fn?: Deno.TestStepDefinition["fn"],
  ) => {
    tests.push(
      typeof nameOrDefinition === "string" ? { name: nameOrDefinition, fn: fn! } : nameOrDefinition,
    );
  };
}
