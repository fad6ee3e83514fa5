/** clsact filters are made with this handle and priority, so a later run can find and remove them. */
export const clsactHandle = 0x6b66;
export const clsactPriority = 0x6b66;
