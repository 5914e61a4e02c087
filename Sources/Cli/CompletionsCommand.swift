import ArgumentParser

/// `shale completions bash|zsh|fish`: the shell's completion script for
/// every command and flag, generated from the same definitions the parser uses.
struct CompletionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completions",
        abstract: "Print a shell completion script.",
        discussion: """
            bash: shale completions bash > /etc/bash_completion.d/shale
            zsh:  shale completions zsh > "${fpath[1]}/_shale"
            fish: shale completions fish > ~/.config/fish/completions/shale.fish
            """
    )

    enum ShellName: String, ExpressibleByArgument, CaseIterable {
        case bash, zsh, fish
    }

    @Argument(help: "The shell: bash, zsh or fish.")
    var shell: ShellName

    func run() {
        let kind: CompletionShell
        switch shell {
        case .bash: kind = .bash
        case .zsh: kind = .zsh
        case .fish: kind = .fish
        }
        print(Shale.completionScript(for: kind))
    }
}
