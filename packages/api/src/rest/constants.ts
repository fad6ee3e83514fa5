export const REST_PREFIX = "/api/v1";
export const OPENAPI_PATH = "/openapi.json";
