// libmattebox, the Mattebox C ABI, as a prebuilt (External) library. Its
// header is in include/ and its binaries in the plugin's
// Binaries/ThirdParty/Mattebox/<platform>/ (hosts/unreal/package.sh lays
// both out). Nothing links against it: MatteboxRuntime loads it from the
// plugin's folder at start-up, checks its ABI version and resolves every
// function by name, so a missing or mismatched library is a clear log line,
// not a failure to start the editor.
using System.IO;
using UnrealBuildTool;

public class MatteboxLibrary : ModuleRules
{
	public MatteboxLibrary(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;
		PublicIncludePaths.Add(Path.Combine(ModuleDirectory, "include"));

		string Staged = "$(PluginDir)/Binaries/ThirdParty/Mattebox";
		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// Delay-loaded: the DLL enters the process only when the module
			// loads it from the plugin's folder.
			PublicDelayLoadDLLs.Add("mattebox.dll");
			RuntimeDependencies.Add(Staged + "/Win64/mattebox.dll");
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			RuntimeDependencies.Add(Staged + "/Linux/libmattebox.so");
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			RuntimeDependencies.Add(Staged + "/Mac/libmattebox.dylib");
		}
	}
}
