export const BASE_URL_ENV = "KERNFLOW_CONSOLE_URL";
export const ADMIN_EMAIL = "admin@kernflow.test";
export const ADMIN_PASSWORD = "playwright-Admin-password-42";
