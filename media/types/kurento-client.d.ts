// kurento-client ships no usable types; media/kurento.ts is the one typed door to it.
declare module 'kurento-client' {
  const kurento: any;
  export default kurento;
}
