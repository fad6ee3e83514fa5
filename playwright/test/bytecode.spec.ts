import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot } from "../console-server";
import { expect, signIn, test, uniqueName } from "./fixtures";

// The console registers this object at start (apps/web/scripts/serve.ts); the tests build on it.
const builtObject = readFileSync(join(repositoryRoot, "bpf", "build", "kernflow.bpf.o"));

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await page.goto("/bytecode");
  await expect(page.getByRole("heading", { name: "Bytecode", level: 1 })).toBeVisible();
});

test("lists the object built from bpf/ as the default for every kernel", async ({ page }) => {
  const row = page.getByRole("row", { name: /built-in CO-RE/ });
  await expect(row).toContainText("default");
  await expect(row.getByRole("cell").first()).toHaveText("*");
  await expect(page.getByRole("button", { name: /Delete bytecode kernflow\.bpf\.o/ })).toHaveCount(0);
});

test("shows the reason a bad upload is rejected and stores nothing", async ({ page }) => {
  await page.getByRole("button", { name: "Upload bytecode" }).click();
  const form = page.getByRole("form", { name: "Upload bytecode" });
  const name = uniqueName("x86");
  // A real object with its machine changed to x86-64: everything else about it is valid.
  const x86 = Buffer.from(builtObject);
  x86.writeUInt16LE(62, 18);
  await form
    .getByLabel("Object file")
    .setInputFiles({ name: "x86.o", mimeType: "application/octet-stream", buffer: x86 });
  await form.getByLabel("Name", { exact: true }).fill(name);
  await form.getByLabel("Kernel match").fill("5.4.*-aws");
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(form.getByRole("alert")).toHaveText(
    "Rejected bytecode: machine is x86-64 (62), expected BPF (247)",
  );

  await form.getByLabel("Object file").setInputFiles({
    name: "notes.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("just some text\n"),
  });
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(form.getByRole("alert")).toHaveText("Rejected bytecode: not an ELF file");
  await page.reload();
  await expect(page.getByRole("rowheader", { name })).toHaveCount(0);
});

test("uploads a valid object for a kernel pattern, changes its match and deletes it", async ({ page }) => {
  await page.getByRole("button", { name: "Upload bytecode" }).click();
  const form = page.getByRole("form", { name: "Upload bytecode" });
  const name = uniqueName("aws");
  // Bytes after the last section change the sha256 (a new object) but not its validity.
  const object = Buffer.concat([builtObject, Buffer.from(`\0${name}`)]);
  await form
    .getByLabel("Object file")
    .setInputFiles({ name: "aws.o", mimeType: "application/octet-stream", buffer: object });
  await form.getByLabel("Name", { exact: true }).fill(name);
  await form.getByLabel("Kernel match").fill("5.4.*-aws");
  await form.getByRole("button", { name: "Upload" }).click();
  await expect(form).toBeHidden();
  const row = page.getByRole("row", { name: new RegExp(name) });
  await expect(row).toContainText("5.4.*-aws");

  await row.getByRole("button", { name: `Change kernel match of ${name}` }).click();
  await row.getByRole("textbox", { name: `Kernel match of ${name}`, exact: true }).fill("5.(4)");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert").first()).toContainText("kernelMatch");
  await row.getByRole("textbox", { name: `Kernel match of ${name}`, exact: true }).fill("5.4.0-1103-aws");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row).toContainText("5.4.0-1103-aws");

  await row.getByRole("button", { name: `Delete bytecode ${name}` }).click();
  await row.getByRole("button", { name: `Confirm deleting bytecode ${name}` }).click();
  await expect(page.getByRole("rowheader", { name: new RegExp(name) })).toHaveCount(0);
});
