// For tests of a launcher-read variant switch: `fn` run with environment variable `name` set to
// `value` (unset for undefined), the variable removed afterwards whatever happens.
export function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    delete process.env[name];
  }
}
