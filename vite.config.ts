/**
 * Vite builds the front end (front/) into front/dist, which the onair server serves with an SPA fallback.
 * In development (`npx vite`), API, health and socket.io traffic is proxied to the server on :8080.
 * kurento-utils is CommonJS written for browserify: `events` comes from the npm package, and its optional
 * screen-sharing add-on is an empty module (its `require` sits in a try/catch whose fallback fails in strict mode).
 * element-plus components and directives (`<ElButton>`, `v-loading`) are imported where a template uses them, with
 * their styles, by unplugin-vue-components; its declarations (front/src/components.d.ts, committed, so that vue-tsc
 * checks templates without a build first) are rewritten by each `vite build` or `npx vite`. The programmatic APIs
 * (ElMessage, ElMessageBox) are imported by hand with their style. Our own components are imported by hand.
 */
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';
import { defineConfig } from 'vite';

const API = process.env.ONAIR_API_URL ?? 'http://localhost:8080';

export default defineConfig({
  root: fileURLToPath(new URL('./front', import.meta.url)),
  plugins: [
    vue(),
    Components({
      dirs: [],
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
      dts: fileURLToPath(new URL('./front/src/components.d.ts', import.meta.url)),
    }),
  ],
  // vue-i18n's bundler flags: the Composition API only (no legacy API), no devtools in production.
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  resolve: {
    alias: {
      'kurento-browser-extensions': fileURLToPath(new URL('./front/src/webrtc/empty.js', import.meta.url)),
    },
  },
  optimizeDeps: {
    include: ['kurento-utils', 'webrtc-adapter', 'socket.io-client'],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': API,
      '/healthz': API,
      '/socket.io': { target: API, ws: true },
    },
  },
});
