namespace LlmTasks.Board.Tests;

/// <summary>The store, the pwsh serving its two boards, and the browser, shared by the browser tests.</summary>
public sealed class BoardFixture : IAsyncLifetime
{
    public const string ScreenshotsVariable = "LLMTASKS_SCREENSHOTS";

    public BoardStore Store { get; private set; } = null!;

    public BoardProcess Boards { get; private set; } = null!;

    public Browser Browser { get; } = new();

    /// <summary>Where screenshots go: $env:LLMTASKS_SCREENSHOTS (docs/images, to refresh the README's), else a temporary folder.</summary>
    public string Screenshots { get; } = Environment.GetEnvironmentVariable(ScreenshotsVariable) is { Length: > 0 } folder
        ? Directory.CreateDirectory(folder).FullName
        : Directory.CreateTempSubdirectory("llmtasks-board-shots-").FullName;

    public async Task InitializeAsync()
    {
        Store = new BoardStore();
        Boards = new BoardProcess(Store.Path);
        await Browser.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        Boards?.Dispose();
        Store?.Dispose();
    }
}
