using Microsoft.Playwright;

namespace LlmTasks.Board.Tests;

/// <summary>
/// One headless chromium for the test class, driven by Playwright (its node driver, which the package's build copies beside
/// the tests). Debian's chromium, not one Playwright downloads: this machine has no internet. Never block inside a Playwright
/// event handler: handlers run on the driver connection's loop, and a blocked one stalls every later call.
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    public const string ChromiumVariable = "LLMTASKS_CHROMIUM";

    private IPlaywright? _playwright;

    public IBrowser Chromium { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable(ChromiumVariable) is { Length: > 0 } path ? path : "/usr/bin/chromium";
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"{executable} is missing: install Debian's chromium (apt-get install chromium; .ci/run does), or set ${ChromiumVariable} to a chromium build.");
        }

        _playwright = await Playwright.CreateAsync();
        Chromium = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            Timeout = 60_000,
        });
    }

    /// <summary>A fresh browser profile (no cookies) with one page; its event handlers only ever record.</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Console)> NewPage(int width = 1280, int height = 900)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(20_000);
        context.SetDefaultNavigationTimeout(20_000);
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, m) => { lock (console) { console.Add($"{m.Type}: {m.Text}"); } };
        page.PageError += (_, e) => { lock (console) { console.Add("pageerror: " + e); } };
        return (context, page, console);
    }

    public async Task DisposeAsync()
    {
        if (Chromium is not null)
        {
            await Chromium.CloseAsync();
        }

        _playwright?.Dispose();
    }
}
