using System.Collections;
using System.Management.Automation;

namespace LlmTasks.PowerShell.Internal;

/// <summary>
/// What one pipeline record asks Start-LlmTask for: the user turns of each task to start. A piped
/// string (or number) is a prompt; a piped object (Import-Csv, ConvertFrom-Json, [pscustomobject],
/// a hashtable) gives its Prompt and/or Messages by property name; a task object is refused (it is
/// continued with -Continue). Objects are never turned into text.
/// </summary>
internal static class StartInput
{
    /// <summary>
    /// The conversations to start, one per prompt: <paramref name="messages"/> (the conversation so far),
    /// then the prompt as the last user turn. Only messages: one conversation.
    /// </summary>
    public static List<List<LlmMessage>> Conversations(PSObject? piped, string[]? prompt, bool promptOnCommandLine, object[]? messages, bool messagesOnCommandLine)
    {
        if (piped is not null && !promptOnCommandLine && !messagesOnCommandLine && prompt is { Length: 1 } && messages is { Length: > 0 }
            && MessageInput.ToMessage(messages[^1], messages.Length - 1) is { Role: LlmRole.User } last && last.Content == prompt[0])
        {
            prompt = null; // a piped request (a task's Request): its Prompt is only its last user message
        }

        if (piped is not null)
        {
            if (ScalarText.TryGet(piped, out var text))
            {
                if (promptOnCommandLine)
                {
                    throw new LlmTasksException(ErrorRecords.PromptGivenTwice, LlmErrorCategory.InvalidArgument,
                        $"Start-LlmTask got the piped text '{Shorten(text)}' and -Prompt: give the prompt one way.") { Target = piped };
                }

                prompt = [text];
            }
            else if (TaskReferences.IsTaskObject(piped))
            {
                throw new LlmTasksException(ErrorRecords.InputIsTask, LlmErrorCategory.InvalidArgument,
                    $"Start-LlmTask got task {Describe(piped)}, not a prompt, and did not send it. To continue its conversation: "
                    + "$task | Start-LlmTask -Continue -Prompt '…'; to run it again: $task | Restart-LlmTask.") { Target = piped };
            }
            else if (prompt is null && messages is null)
            {
                if (HasProperty(piped, "Prompt"))
                {
                    throw new LlmTasksException(ErrorIds.EmptyPrompt, LlmErrorCategory.InvalidArgument,
                        "The piped object's Prompt is empty: give it some text.") { Target = piped };
                }

                throw new LlmTasksException(ErrorRecords.InputHasNoPrompt, LlmErrorCategory.InvalidArgument,
                    $"Start-LlmTask got a {ScalarText.TypeName(piped)} with no Prompt (or Messages) property{Properties(piped)}: it was not sent. "
                    + (MessageInput.LooksLikeMessage(piped)
                        ? "It looks like one message of a conversation: pass the whole conversation with -Messages."
                        : "Pipe strings, or objects with a Prompt property (an Import-Csv column, a JSON field, [pscustomobject]@{ Prompt = '…' }).")) { Target = piped };
            }
        }
        else if (prompt is null && messages is null)
        {
            throw new LlmTasksException(ErrorRecords.NoPrompt, LlmErrorCategory.InvalidArgument,
                "Nothing to ask: give -Prompt 'text', pipe prompts (strings, or objects with a Prompt property), or give -Messages.");
        }

        return Conversations(prompt, messages);
    }

    /// <summary>The new turns for -Continue: -Messages, then each -Prompt (one task each).</summary>
    public static List<List<LlmMessage>> Turns(string[]? prompt, object[]? messages)
    {
        if (prompt is null && messages is null)
        {
            throw new LlmTasksException(ErrorRecords.NoPrompt, LlmErrorCategory.InvalidArgument,
                "-Continue needs the next prompt: $task | Start-LlmTask -Continue -Prompt '…' (or -Messages).");
        }

        return Conversations(prompt, messages);
    }

    private static List<List<LlmMessage>> Conversations(string[]? prompt, object[]? messages)
    {
        var before = messages is null ? [] : MessageInput.ToMessages(messages);
        if (prompt is null)
        {
            return [before];
        }

        if (prompt.Length == 0)
        {
            throw new LlmTasksException(ErrorRecords.NoPrompt, LlmErrorCategory.InvalidArgument,
                "-Prompt is an empty list: nothing to ask.");
        }

        return prompt.Select(p => new List<LlmMessage>([.. before, new LlmMessage(LlmRole.User, p ?? string.Empty)])).ToList();
    }

    private static bool HasProperty(PSObject input, string name) =>
        input.BaseObject is IDictionary dictionary
            ? dictionary.Keys.Cast<object?>().Any(k => string.Equals(k?.ToString(), name, StringComparison.OrdinalIgnoreCase))
            : input.Properties[name] is not null;

    private static string Properties(PSObject input)
    {
        var names = input.BaseObject is IDictionary dictionary
            ? dictionary.Keys.Cast<object?>().Select(k => k?.ToString() ?? "")
            : input.Properties.Select(p => p.Name);
        var list = names.Take(8).ToList();
        return list.Count == 0 ? "" : $" (it has {string.Join(", ", list)})";
    }

    private static string Describe(PSObject task) =>
        task.BaseObject is LlmTask live ? ErrorRecords.Describe(live) : $"{task.Properties["Id"]?.Value} ({task.Properties["State"]?.Value})";

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..39] + "…";
}
