using System.Diagnostics;
using System.Text.RegularExpressions;

namespace LlmTasks.Board.Tests;

/// <summary>
/// Real pwsh serving two boards of one store from the built module, as a person would start them:
/// <c>Start-LlmTaskBoard -NoBrowser</c> (read-only) and <c>Start-LlmTaskBoard -NoBrowser -AllowActions -Wait</c>.
/// Their addresses come from the cmdlets' output; disposing kills the pwsh (the engine itself, not a shim).
/// </summary>
public sealed partial class BoardProcess : IDisposable
{
    private readonly Process _pwsh;

    public BoardProcess(string store)
    {
        var script = $"$ErrorActionPreference = 'Stop'; Import-Module LlmTasks; " +
                     $"(Start-LlmTaskBoard -StorePath '{store}' -NoBrowser).Url; " +
                     $"Start-LlmTaskBoard -StorePath '{store}' -NoBrowser -AllowActions -Wait | ForEach-Object Url";
        _pwsh = Pwsh.Start(["-Command", script]);
        var urls = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (urls.Count < 2)
        {
            var line = _pwsh.StandardOutput.ReadLineAsync();
            if (!line.Wait(deadline - DateTime.UtcNow) || line.Result is null)
            {
                var errors = _pwsh.HasExited ? _pwsh.StandardError.ReadToEnd() : "(still running)";
                Dispose();
                throw new InvalidOperationException($"pwsh wrote {urls.Count} board address(es) of 2 in time. Errors: {errors}");
            }

            if (Address().IsMatch(line.Result.Trim()))
            {
                urls.Add(line.Result.Trim());
            }
        }

        ReadOnlyUrl = urls[0];
        ActionsUrl = urls[1];
    }

    /// <summary>The read-only board's link, with its token.</summary>
    public string ReadOnlyUrl { get; }

    /// <summary>The -AllowActions board's link, with its token.</summary>
    public string ActionsUrl { get; }

    public static string Origin(string url) => new Uri(url).GetLeftPart(UriPartial.Authority);

    public void Dispose()
    {
        try
        {
            _pwsh.Kill(entireProcessTree: true);
            _pwsh.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }

        _pwsh.Dispose();
    }

    [GeneratedRegex(@"^http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]+$")]
    private static partial Regex Address();
}
