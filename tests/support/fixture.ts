/**
 * What every suite fixture gives its tests: a value set up in a hook, read through a getter that says clearly
 * when it is read before the hook ran (at module level, or from an earlier hook) instead of handing out undefined.
 */
export function setUpValue(notReady: string): <T>(value: T | undefined) => T {
  return (value) => {
    if (value === undefined) throw new Error(notReady);
    return value;
  };
}
