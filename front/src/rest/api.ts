import { ApiClient } from './ApiClient.js';

/** The one API client of the app; the session store binds itself to it at start. */
export const api = new ApiClient();
