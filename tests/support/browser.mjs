// Headless Chromium for the page tests: Debian's build (scripts/tools.sh installs it), since
// test tools cannot download their own browser here.
import { chromium } from "playwright-core";

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/**
 * A new page signed in to the console with an API key, with the app `slug` picked and every
 * confirm() accepted. Resolves to the page.
 */
export async function consolePage(browser, { url, key, slug = "song-request", height = 900 }) {
  const page = await browser.newPage({ viewport: { width: 1200, height } });
  page.on("dialog", (d) => d.accept());
  await page.goto(`${url}/console/`);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).last().click();
  await page.getByText("Signed in as Owner").waitFor();
  await page.getByLabel("App").selectOption(slug);
  return page;
}
