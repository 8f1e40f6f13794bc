/** Header names shared by every client and the daemon. */
export const TOKEN_HEADER = 'x-telepty-token';
export const API_PREFIX = '/api';
