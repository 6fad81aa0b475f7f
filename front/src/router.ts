import { watch } from 'vue';
import { createRouter, createWebHistory, type RouteLocationNormalized, type Router } from 'vue-router';
import AppLayout from './layouts/AppLayout.vue';
import { t } from './i18n/index.js';
import type { SessionStore } from './stores/session.js';

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable while signed out (log in, register). Every other page needs a session. */
    public?: boolean;
    /** Shown in the browser tab: a catalog key (titles.*). */
    titleKey?: string;
  }
}

/** The browser tab's title of a page. */
export function pageTitle(titleKey: string | undefined): string {
  return titleKey ? `${t(titleKey)} · onair` : 'onair';
}

export function createAppRouter(): Router {
  return createRouter({
    history: createWebHistory(),
    routes: [
      {
        path: '/welcome',
        name: 'landing',
        component: () => import('./pages/LandingPage.vue'),
        meta: { public: true, titleKey: 'titles.landing' },
      },
      {
        path: '/login',
        name: 'login',
        component: () => import('./pages/AuthPage.vue'),
        props: { mode: 'login' },
        meta: { public: true, titleKey: 'titles.login' },
      },
      {
        path: '/register',
        name: 'register',
        component: () => import('./pages/AuthPage.vue'),
        props: { mode: 'register' },
        meta: { public: true, titleKey: 'titles.register' },
      },
      {
        path: '/',
        component: AppLayout,
        children: [
          {
            path: '',
            name: 'liveNow',
            component: () => import('./pages/LiveNowPage.vue'),
            meta: { titleKey: 'titles.liveNow' },
          },
          {
            path: 'go-live',
            name: 'goLive',
            component: () => import('./pages/GoLivePage.vue'),
            meta: { titleKey: 'titles.goLive' },
          },
          {
            path: 'live/:liveId',
            name: 'watch',
            component: () => import('./pages/WatchPage.vue'),
            props: true,
            meta: { titleKey: 'titles.watch' },
          },
          {
            path: 'recordings',
            name: 'recordings',
            component: () => import('./pages/RecordingsPage.vue'),
            meta: { titleKey: 'titles.recordings' },
          },
          {
            path: 'calls',
            name: 'calls',
            component: () => import('./pages/CallsPage.vue'),
            meta: { titleKey: 'titles.calls' },
          },
          {
            path: 'settings/stream-keys',
            name: 'streamKeys',
            component: () => import('./pages/StreamKeysPage.vue'),
            meta: { titleKey: 'titles.streamKeys' },
          },
          {
            path: ':pathMatch(.*)*',
            name: 'notFound',
            component: () => import('./pages/NotFoundPage.vue'),
            meta: { titleKey: 'titles.notFound' },
          },
        ],
      },
    ],
  });
}

/**
 * Keeps routes and session in step: signed-out users only reach public pages (and come back where they
 * were after logging in); signed-in users skip the login page; a session that ends sends the user to log in.
 */
export function guardRoutes(router: Router, session: SessionStore): void {
  router.beforeEach((to) => {
    if (to.meta.public) return session.status === 'signedIn' ? safeRedirect(to) : true;
    if (session.status !== 'signedOut') return true;
    // A first-time visitor at the root sees what onair is; any other page asks to log in (and comes back).
    return to.fullPath === '/' ? { name: 'landing' } : loginFor(to);
  });

  router.afterEach((to, from) => {
    document.title = pageTitle(to.meta.titleKey);
    // Moving between pages re-checks the session, so a revoked or expired token is noticed without a reload.
    if (!to.meta.public && from.matched.length > 0 && !from.meta.public) void session.revalidate();
  });

  watch(
    () => session.status,
    (status) => {
      const current = router.currentRoute.value;
      if (status === 'signedOut' && !current.meta.public) void router.replace(loginFor(current));
      if (status === 'signedIn' && current.meta.public) void router.replace(safeRedirect(current));
    },
  );
}

function loginFor(from: RouteLocationNormalized) {
  return { name: 'login', query: from.fullPath === '/' ? {} : { redirect: from.fullPath } };
}

/** The page to return to after logging in: only a path inside this app, never another origin. */
function safeRedirect(route: RouteLocationNormalized): string {
  const target = route.query.redirect;
  return typeof target === 'string' && target.startsWith('/') && !target.startsWith('//') && !target.startsWith('/\\')
    ? target
    : '/';
}
