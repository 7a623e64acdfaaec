// The runtime module: libmattebox loaded at start-up, the game instance
// subsystem, the Generate Shot node, scoring of rendered frames. Its
// Private/Core is engine-independent C++ (standard library, no exceptions)
// that CI builds and runs against the real library.
using UnrealBuildTool;

public class MatteboxRuntime : ModuleRules
{
	public MatteboxRuntime(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp20;
		bEnableExceptions = false;

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "MediaAssets" });
		PrivateDependencyModuleNames.AddRange(new string[] { "Projects", "RenderCore", "ImgMedia", "MatteboxLibrary" });
	}
}
