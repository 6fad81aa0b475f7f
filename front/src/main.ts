import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { api } from './rest/api.js';
import { followLocale, i18n } from './i18n/index.js';
import { createAppRouter, guardRoutes } from './router.js';
import { signalling } from './signalling/signalling.js';
import { useSessionStore } from './stores/session.js';
import './styles/main.css';

const app = createApp(App);
app.use(i18n);
followLocale();
const pinia = createPinia();
app.use(pinia);

const session = useSessionStore(pinia);
api.bindSession(session);
signalling.bindSession(session);
session.followOtherTabs();

// Check the stored token before the first route is chosen, so a reload lands where the user was.
void session.restore().finally(() => {
  const router = createAppRouter();
  guardRoutes(router, session);
  app.use(router);
  app.mount('#app');
});
