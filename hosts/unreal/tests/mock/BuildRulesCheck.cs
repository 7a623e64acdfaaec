// Runs every Build.cs of the plugin against the mock for each platform and
// prints what each module asks of the build, one line per module and
// platform, for hosts/unreal/checks to read:
//   PLATFORM MODULE key=value;value key=value ...
using System;
using System.IO;
using UnrealBuildTool;

public static class BuildRulesCheck
{
	public static int Main(string[] Args)
	{
		string Plugin = Args[0];
		string[][] Modules = {
			new[] { "MatteboxLibrary", "Source/ThirdParty/MatteboxLibrary" },
			new[] { "MatteboxRuntime", "Source/MatteboxRuntime" },
			new[] { "MatteboxEditor", "Source/MatteboxEditor" },
		};
		foreach (UnrealTargetPlatform Platform in new[] { UnrealTargetPlatform.Linux, UnrealTargetPlatform.Win64, UnrealTargetPlatform.Mac })
		{
			foreach (string[] Module in Modules)
			{
				ModuleRules.NextModuleDirectory = Path.Combine(Plugin, Module[1]);
				ModuleRules.NextPluginDirectory = Plugin;
				Type RulesType = Type.GetType(Module[0]);
				if (RulesType == null) { Console.Error.WriteLine("no rules class " + Module[0]); return 1; }
				var Rules = (ModuleRules)Activator.CreateInstance(RulesType, new ReadOnlyTargetRules(Platform));
				Console.WriteLine(string.Join(" ", new[] {
					Platform.ToString(), Module[0],
					"type=" + Rules.Type,
					"pch=" + Rules.PCHUsage,
					"cpp=" + (Rules.CppStandard.HasValue ? Rules.CppStandard.Value.ToString() : "Default"),
					"exceptions=" + Rules.bEnableExceptions,
					"include=" + string.Join(";", Rules.PublicIncludePaths),
					"public=" + string.Join(";", Rules.PublicDependencyModuleNames),
					"private=" + string.Join(";", Rules.PrivateDependencyModuleNames),
					"libraries=" + string.Join(";", Rules.PublicAdditionalLibraries),
					"delayload=" + string.Join(";", Rules.PublicDelayLoadDLLs),
					"runtime=" + string.Join(";", Rules.RuntimeDependencies),
				}));
			}
		}
		return 0;
	}
}
