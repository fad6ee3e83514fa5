import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { kernelTestsUnavailable, VethLink } from "../../apps/agent/test/capture-harness";
import { AgentProcess } from "../../apps/agent/test/support/agent-process";
import { ConsoleApi } from "../flows-agent";
import { expect, signIn, test, uniqueName } from "./fixtures";

const unavailable = kernelTestsUnavailable();
const agentState = z.object({ device: z.object({ id: z.string(), name: z.string() }) });

test.describe("fleet: enroll from the console and push capture rules", () => {
  test.skip(unavailable !== null, `needs root and eBPF: ${unavailable}`);
  test.setTimeout(240_000);

  test("an admin creates a token, the shown command enrolls an agent that comes online, and a rule edit changes what it attaches to", async ({
    page,
    baseURL,
  }) => {
    const first = new VethLink().create();
    const second = new VethLink().create();
    const stateDir = mkdtempSync(join(tmpdir(), "kf-fleet-agent-"));
    let agent: AgentProcess | undefined;
    try {
      // A plan whose rule captures only the first veth, made through REST as an operator would.
      const api = await ConsoleApi.signIn(String(baseURL));
      const planName = uniqueName("fleet");
      const ruleName = uniqueName("fleet-rule");
      const plan = z.object({ id: z.string() }).parse(
        await api.rest("POST", "/plans", {
          name: planName,
          maxDevices: 2,
          maxFlowsPerSecond: 100_000,
          retentionDays: 1,
        }),
      );
      await api.rest("POST", "/capture-rules", {
        scope: "plan",
        planId: plan.id,
        name: ruleName,
        include: [first.outer],
      });

      // The token is created in the page, which shows its secret and the commands once.
      await signIn(page);
      await page.goto("/enrollment-tokens");
      await page.getByRole("button", { name: "New token" }).click();
      const form = page.getByRole("form", { name: "New enrollment token" });
      await form.getByLabel("Token name").fill(uniqueName("fleet-token"));
      await form.getByRole("combobox", { name: "Plan" }).selectOption(plan.id);
      await form.getByRole("button", { name: "Create token" }).click();
      const command = await page.getByRole("textbox", { name: "host enroll command" }).inputValue();
      const shown = /^npx kernflow-agent enroll --server (\S+) --token (\S+) && npx kernflow-agent run$/.exec(
        command,
      );
      expect(shown, `enroll command as shown: ${command}`).not.toBeNull();
      const [, server, token] = shown as RegExpExecArray;
      expect(server).toBe(new URL(String(baseURL)).origin);
      await expect(page.getByRole("textbox", { name: "kubectl secret command" })).toHaveValue(
        `kubectl create secret generic kernflow-enrollment --from-literal=token=${token} -n kernflow`,
      );

      // Run the shown command's two steps, with a temporary state folder instead of /var/lib/kernflow.
      const enrolled = await AgentProcess.once([
        "enroll",
        ...["--server", String(server), "--token", String(token), "--state-dir", stateDir],
      ]);
      expect(enrolled.code, enrolled.stderr).toBe(0);
      const { device } = agentState.parse(JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")));
      agent = AgentProcess.start(["run", "--state-dir", stateDir]);
      await agent.waitFor(`attached to ${first.outer} `, 60_000);

      // The device list shows it online (the page refreshes by itself).
      await page.goto("/devices");
      const row = page
        .getByRole("table", { name: "Devices" })
        .getByRole("row", { name: new RegExp(device.name) });
      await expect(row.locator("[data-status]")).toHaveText("online", { timeout: 45_000 });
      await row.getByRole("link", { name: device.name }).click();
      await expect(page.getByRole("heading", { name: device.name, level: 1 })).toBeVisible();
      const interfaces = page.getByRole("table", { name: "Interfaces" });
      await expect(interfaces.locator(`tr[data-interface="${first.outer}"]`)).toContainText("attached", {
        timeout: 30_000,
      });
      await expect(interfaces.locator(`tr[data-interface="${second.outer}"]`)).toContainText("no");

      // Edit the plan's rule on the capture rules page: the agent moves to the second veth, live.
      await page.goto("/capture-rules");
      const ruleRow = page
        .getByRole("table", { name: "Plan rules" })
        .getByRole("row", { name: new RegExp(ruleName) });
      await ruleRow.getByRole("button", { name: `Edit rule ${ruleName}` }).click();
      const edit = page.getByRole("form", { name: `Edit rule ${ruleName}` });
      await edit.getByLabel("Include interfaces").fill(second.outer);
      await edit.getByRole("button", { name: "Save changes" }).click();
      await agent.waitFor(`attached to ${second.outer} `, 30_000);

      await page.goto(`/devices/${device.id}`);
      await expect(interfaces.locator(`tr[data-interface="${second.outer}"]`)).toContainText("attached", {
        timeout: 45_000,
      });
      await expect(interfaces.locator(`tr[data-interface="${first.outer}"]`)).not.toContainText("attached");
      await expect(interfaces.locator(`tr[data-interface="${second.outer}"]`)).toContainText("yes");
    } finally {
      await agent?.stop();
      rmSync(stateDir, { recursive: true, force: true });
      first.destroy();
      second.destroy();
    }
  });
});
