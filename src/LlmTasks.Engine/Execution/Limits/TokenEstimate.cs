using System.Text;
using Microsoft.ML.Tokenizers;

namespace LlmTasks.Execution.Limits;

/// <summary>
/// How many input tokens a request is before it is sent: counted with OpenAI's o200k_base tokenizer (Microsoft.ML.Tokenizers,
/// loaded on first use), plus OpenAI's chat framing (3 tokens a message, 3 to prime the answer). Exact for current
/// OpenAI models; for other providers an estimate (their tokenizers differ, usually by less than a tenth).
/// </summary>
internal static class TokenEstimate
{
    /// <summary>Tokens OpenAI adds per message (role and separators), and once to prime the answer.</summary>
    public const int PerMessage = 3;

    private static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The request's input tokens, counted.</summary>
    public static long Count(IReadOnlyList<LlmMessage> messages)
    {
        long total = PerMessage;
        foreach (var message in messages)
        {
            total += PerMessage + (string.IsNullOrEmpty(message.Content) ? 0 : O200k.Value.CountTokens(message.Content));
        }

        return total;
    }

    /// <summary>
    /// The most tokens the request can be, without running the tokenizer: a byte-level BPE token is at least one UTF-8 byte.
    /// A request under a limit by this bound needs no count.
    /// </summary>
    public static long UpperBound(IReadOnlyList<LlmMessage> messages)
    {
        long total = PerMessage;
        foreach (var message in messages)
        {
            total += PerMessage + (string.IsNullOrEmpty(message.Content) ? 0 : Encoding.UTF8.GetByteCount(message.Content));
        }

        return total;
    }
}
