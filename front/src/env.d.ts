/// <reference types="vite/client" />

// For tools that read .ts files without Vue's language service (ESLint's type-aware rules): vue-tsc resolves
// the real .vue files and never uses this.
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent;
  export default component;
}
