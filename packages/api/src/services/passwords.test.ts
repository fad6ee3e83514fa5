import { describe, expect, it } from "vitest";
import { hashPassword, MalformedPasswordHashError, verifyPassword } from "./passwords";

describe("password hashing", () => {
  it("verifies the password it hashed and rejects any other", async () => {
    const stored = await hashPassword("correct horse battery");
    expect(await verifyPassword("correct horse battery", stored)).toBe(true);
    expect(await verifyPassword("correct horse batterY", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("salts each hash so equal passwords produce different hashes", async () => {
    const a = await hashPassword("same password");
    const b = await hashPassword("same password");
    expect(a).not.toBe(b);
    expect(a.split("$")[4]).not.toBe(b.split("$")[4]);
  });

  it("stores the scrypt parameters with the hash and never the password", async () => {
    const stored = await hashPassword("hunter2hunter2");
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(stored).not.toContain("hunter2");
  });

  it("rejects a stored hash that is not in its format", async () => {
    await expect(verifyPassword("x", "plaintext")).rejects.toBeInstanceOf(MalformedPasswordHashError);
    await expect(verifyPassword("x", "scrypt$0$8$1$$")).rejects.toBeInstanceOf(MalformedPasswordHashError);
  });
});
