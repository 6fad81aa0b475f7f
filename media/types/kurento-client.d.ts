// kurento-client ships no usable types; media/kurento.ts is the one typed door to it.
declare module 'kurento-client' {
  /** The part of the module media/kurento.ts uses; what the client hands out is typed there. */
  interface KurentoModule {
    new (uri: string, options: object, callback: (error: unknown) => void): unknown;
    /** The factory form (tests and benchmarks): resolves with a client. */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- its clients are untyped (tests poke at them)
    (uri: string, options?: object): Promise<any>;
    getComplexType(name: string): (value: object) => unknown;
  }
  const kurento: KurentoModule;
  export default kurento;
}
