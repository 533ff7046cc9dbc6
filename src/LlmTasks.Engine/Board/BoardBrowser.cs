using System.ComponentModel;
using System.Diagnostics;
using LlmTasks.Configuration;

namespace LlmTasks.Board;

/// <summary>Opens a board in this desktop's browser: xdg-open where a desktop runs (X11 or Wayland), open on macOS, the shell on Windows.</summary>
public static class BoardBrowser
{
    /// <summary>Opens the address; returns why it could not (for the cmdlet's verbose stream), or null.</summary>
    public static string? Open(string url, EngineEnvironment? environment = null)
    {
        environment ??= EngineEnvironment.Process;
        ProcessStartInfo start;
        if (OperatingSystem.IsWindows())
        {
            start = new ProcessStartInfo(url) { UseShellExecute = true };
        }
        else if (OperatingSystem.IsMacOS())
        {
            start = new ProcessStartInfo("open", [url]);
        }
        else if (environment.Text("DISPLAY") is null && environment.Text("WAYLAND_DISPLAY") is null)
        {
            return "No desktop runs here ($env:DISPLAY and $env:WAYLAND_DISPLAY are not set), so no browser was opened: open the Url in a browser on this machine.";
        }
        else
        {
            start = new ProcessStartInfo("xdg-open", [url]);
        }

        if (!start.UseShellExecute)
        {
            start.RedirectStandardOutput = true; // the opener's chatter stays out of the console
            start.RedirectStandardError = true;
        }

        try
        {
            using var process = Process.Start(start);
            if (process is not null && !start.UseShellExecute)
            {
                process.OutputDataReceived += (_, _) => { };
                process.ErrorDataReceived += (_, _) => { };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
            }

            return null;
        }
        catch (Win32Exception e)
        {
            return $"The browser could not be opened ({start.FileName}: {e.Message}): open the Url in a browser on this machine.";
        }
    }
}
