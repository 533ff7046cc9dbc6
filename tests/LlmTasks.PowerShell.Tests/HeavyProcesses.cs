namespace LlmTasks.PowerShell.Tests;

/// <summary>
/// Tests that kill real pwsh processes or run bursts of thousands of tasks in them, run apart from the other test classes
/// (not in parallel with them): their load would starve the timing of the hand-over tests running beside them.
/// </summary>
[CollectionDefinition(nameof(HeavyProcesses), DisableParallelization = true)]
public sealed class HeavyProcesses;
