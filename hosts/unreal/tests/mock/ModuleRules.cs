// A small mock of UnrealBuildTool's rules API: the members Mattebox's
// Build.cs files use, with the engine's names and types, so CI compiles
// them (Debian's mono-mcs) and runs them for each platform. Not the
// engine's code: written from the UnrealBuildTool documentation.
using System.Collections.Generic;

namespace UnrealBuildTool
{
	public enum ModuleType { CPlusPlus, External }

	public enum PCHUsageMode { Default, NoPCHs, NoSharedPCHs, UseSharedPCHs, UseExplicitOrSharedPCHs }

	public enum CppStandardVersion { Default, Cpp17, Cpp20, Latest }

	public sealed class UnrealTargetPlatform
	{
		public static readonly UnrealTargetPlatform Win64 = new UnrealTargetPlatform("Win64");
		public static readonly UnrealTargetPlatform Linux = new UnrealTargetPlatform("Linux");
		public static readonly UnrealTargetPlatform Mac = new UnrealTargetPlatform("Mac");
		private readonly string Name;
		private UnrealTargetPlatform(string Name) { this.Name = Name; }
		public override string ToString() { return Name; }
	}

	public class ReadOnlyTargetRules
	{
		public readonly UnrealTargetPlatform Platform;
		public ReadOnlyTargetRules(UnrealTargetPlatform Platform) { this.Platform = Platform; }
	}

	// Files staged with the build, as UnrealBuildTool's RuntimeDependencyList.
	public class RuntimeDependencyList : List<string>
	{
		public void Add(string Path, string SourcePath) { Add(Path + " <- " + SourcePath); }
	}

	public class ModuleRules
	{
		// UnrealBuildTool sets these from the .Build.cs file's location before
		// the rules' constructor runs; the mock takes them from here.
		public static string NextModuleDirectory = "";
		public static string NextPluginDirectory = "";

		public readonly ReadOnlyTargetRules Target;
		public readonly string ModuleDirectory;
		public readonly string PluginDirectory;
		public ModuleType Type = ModuleType.CPlusPlus;
		public PCHUsageMode PCHUsage = PCHUsageMode.Default;
		public CppStandardVersion? CppStandard;
		public bool bEnableExceptions;
		public List<string> PublicIncludePaths = new List<string>();
		public List<string> PrivateIncludePaths = new List<string>();
		public List<string> PublicDependencyModuleNames = new List<string>();
		public List<string> PrivateDependencyModuleNames = new List<string>();
		public List<string> PublicAdditionalLibraries = new List<string>();
		public List<string> PublicDelayLoadDLLs = new List<string>();
		public RuntimeDependencyList RuntimeDependencies = new RuntimeDependencyList();

		public ModuleRules(ReadOnlyTargetRules Target)
		{
			this.Target = Target;
			ModuleDirectory = NextModuleDirectory;
			PluginDirectory = NextPluginDirectory;
		}
	}
}
